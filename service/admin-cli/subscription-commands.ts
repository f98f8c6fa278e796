// devlic-admin's `products` and `subscriptions` commands (seats bought for a
// product, their term and status) and how each becomes one admin API request.
import { API } from '../../shared/api.ts';
import type { CreateSubscriptionBody, UpdateSubscriptionBody } from '../../shared/schemas/subscriptions.ts';
import { UsageError } from '../../shared/cli.ts';
import { checkRef, count, parseCount, parseTermEnd, required, seg, str, take } from './arguments.ts';
import { cmd, guarded, list, str_, type CommandSpec } from './command-spec.ts';
import * as r from './render.ts';

const A = API.admin;

export const SUBSCRIPTION_COMMANDS: CommandSpec[] = [
  list('products list', '/products', 'List products with their seat totals', r.renderProducts),

  list('subscriptions list', '/subscriptions', 'List subscriptions and the groups they are assigned to', r.renderSubscriptions),
  cmd({
    name: 'subscriptions add', summary: 'Add a subscription (a number of device seats for a product)', answer: 'object',
    options: { product: str_, seats: str_, name: str_, 'term-end': str_ },
    optionHelp: [
      ['--product SKU', "product SKU (required; see 'devlic-admin products list')", true],
      ['--seats N', 'number of device seats (required)', true],
      ['--name NAME', 'a name to refer to it by (default: chosen by the service)'],
      ['--term-end DATE', 'end of the term: YYYY-MM-DD (through that day, UTC) or an ISO date-time'],
    ],
    build(a) {
      take(a, []);
      const body: CreateSubscriptionBody = {
        product: checkRef(required(a, 'product', 'SKU'), '--product'),
        seats: parseCount(required(a, 'seats', 'N'), 'seats', 0, 10_000_000),
      };
      const name = str(a, 'name');
      if (name !== undefined) body.name = checkRef(name, '--name');
      const termEnd = str(a, 'term-end');
      if (termEnd !== undefined && termEnd !== 'none') body.termEnd = parseTermEnd(termEnd);
      return { method: 'POST', path: `${A}/subscriptions`, body };
    },
    render: r.renderSubscriptionCreated,
  }),
  cmd({
    name: 'subscriptions show', args: 'SUBSCRIPTION', summary: 'Show one subscription (by id or name)', answer: 'object',
    build: (a) => ({ method: 'GET', path: `${A}/subscriptions/${seg(take(a, ['SUBSCRIPTION'])[0])}` }),
    render: r.renderSubscription,
  }),
  guarded({
    name: 'subscriptions update', args: 'SUBSCRIPTION', summary: 'Rename a subscription or change its seats, status or term end', answer: 'object',
    options: { name: str_, seats: str_, status: str_, 'term-end': str_ },
    optionHelp: [
      ['--name NAME', 'new name'],
      ['--seats N', 'new number of seats (devices beyond it lose their seat)'],
      ['--status active|suspended', 'suspend (every device goes read-only) or reactivate'],
      ['--term-end DATE|none', "new term end, or 'none' to remove it"],
    ],
    build(a) {
      const [s] = take(a, ['SUBSCRIPTION']);
      const body: UpdateSubscriptionBody = {};
      const name = str(a, 'name');
      if (name !== undefined) body.name = checkRef(name, '--name');
      const seats = count(a, 'seats', 0, 10_000_000);
      if (seats !== undefined) body.seats = seats;
      const status = str(a, 'status');
      if (status !== undefined) {
        if (status !== 'active' && status !== 'suspended') throw new UsageError(`--status must be active or suspended (got '${status}')`);
        body.status = status;
      }
      const termEnd = str(a, 'term-end');
      if (termEnd !== undefined) body.termEnd = termEnd === 'none' ? null : parseTermEnd(termEnd);
      if (Object.keys(body).length === 0) throw new UsageError('nothing to update: give --name, --seats, --status or --term-end');
      return { method: 'PATCH', path: `${A}/subscriptions/${seg(s)}`, body };
    },
    render: r.renderSubscriptionUpdated,
  }),
];
