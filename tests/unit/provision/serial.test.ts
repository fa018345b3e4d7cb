import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { batches, batchSizes, batchStops, parseSerial, Rolls } from '../../../provision/core/serial.js';

describe('serial batches (Ansible serial)', () => {
  const rows: { when: string; total: number; serial: string | null; sizes: number[] }[] = [
    { when: 'no serial is given', total: 7, serial: null, sizes: [7] },
    { when: 'serial is 1', total: 3, serial: '1', sizes: [1, 1, 1] },
    { when: 'serial is 2 for 5 hosts', total: 5, serial: '2', sizes: [2, 2, 1] },
    { when: 'serial is a list (the last size repeats)', total: 10, serial: '1,3', sizes: [1, 3, 3, 3] },
    { when: 'serial is a percentage (rounded down)', total: 7, serial: '30%', sizes: [2, 2, 2, 1] },
    { when: 'a percentage is below one host', total: 3, serial: '10%', sizes: [1, 1, 1] },
    { when: 'a canary, then half, then the rest', total: 9, serial: '1,50%,100%', sizes: [1, 4, 4] },
    { when: 'serial exceeds the hosts', total: 2, serial: '5', sizes: [2] },
  ];
  for (const row of rows) {
    it(`when ${row.when}, then the batches are ${row.sizes.join(', ')}`, () => {
      assert.deepEqual(batchSizes(row.total, row.serial === null ? [] : parseSerial(row.serial)), row.sizes);
    });
  }

  it('when hosts are cut into batches, then they keep the inventory order', () => {
    assert.deepEqual(batches(['api1', 'api2', 'api3'], parseSerial('1,2')), [['api1'], ['api2', 'api3']]);
  });

  it('when serial is not a count or a percentage, then the option is refused naming the word', () => {
    for (const bad of ['0', '1,,2', 'x', '150%', '-1', ''])
      assert.throws(() => parseSerial(bad), /host count|list of host counts/, bad);
  });
});

describe('max_fail_percentage', () => {
  const rows: { when: string; failed: number; size: number; max: number | undefined; stops: RegExp | null }[] = [
    { when: 'nothing failed', failed: 0, size: 2, max: 0, stops: null },
    {
      when: 'one of two failed with 0%',
      failed: 1,
      size: 2,
      max: 0,
      stops: /^1 of 2 hosts failed \(50% > max_fail_percentage 0%\)$/,
    },
    { when: 'one of two failed with 50% (not above it)', failed: 1, size: 2, max: 50, stops: null },
    { when: 'two of three failed with 50%', failed: 2, size: 3, max: 50, stops: /67% > max_fail_percentage 50%/ },
    { when: 'one of two failed and no percentage is set', failed: 1, size: 2, max: undefined, stops: null },
    {
      when: 'every host of the batch failed and no percentage is set',
      failed: 2,
      size: 2,
      max: undefined,
      stops: /^every host of the batch failed \(2 of 2\)$/,
    },
  ];
  for (const row of rows) {
    it(`when ${row.when}, then the play ${row.stops ? 'stops' : 'goes on'}`, () => {
      const why = batchStops(row.failed, row.size, row.max);
      if (row.stops === null) assert.equal(why, null);
      else assert.match(why ?? '', row.stops);
    });
  }
});

describe('rolling roles', () => {
  /** Hosts run as the play runs them: each enters its roles' rolls, works, and leaves. */
  async function roll(rolls: Rolls, hosts: { name: string; roles: string[]; fails?: boolean }[]) {
    const events: string[] = [];
    await Promise.all(
      hosts.map(async (host) => {
        const place = await rolls.enter(host.name, host.roles);
        if ('stopped' in place) {
          events.push(`${host.name} skipped: ${place.stopped}`);
          return;
        }
        events.push(`${host.name} start`);
        await sleep(20);
        events.push(`${host.name} end`);
        place.release(host.fails ?? false);
      }),
    );
    return events;
  }

  it('when two api hosts and a web host run together with api serial 1, then the api hosts run one after the other and the web host beside them', async () => {
    const events = await roll(new Rolls(new Map([['api', 1]])), [
      { name: 'api1', roles: ['common', 'api'] },
      { name: 'api2', roles: ['common', 'api'] },
      { name: 'web1', roles: ['common', 'web'] },
    ]);
    assert.deepEqual(events.slice(0, 2).sort(), ['api1 start', 'web1 start']);
    assert.ok(events.indexOf('api1 end') < events.indexOf('api2 start'), events.join(', '));
  });

  it('when a host of the roll fails, then the role’s later hosts are skipped, naming it, and other roles go on', async () => {
    const events = await roll(new Rolls(new Map([['api', 1]])), [
      { name: 'api1', roles: ['api'], fails: true },
      { name: 'api2', roles: ['api'] },
      { name: 'web1', roles: ['web'] },
    ]);
    assert.ok(events.includes('api2 skipped: the roll of role api stopped: api1 failed'), events.join(', '));
    assert.ok(events.includes('web1 end'));
    assert.ok(!events.includes('api2 start'));
  });

  it('when the roll allows two at a time, then three hosts run as two, then one', async () => {
    const events = await roll(new Rolls(new Map([['api', 2]])), [
      { name: 'api1', roles: ['api'] },
      { name: 'api2', roles: ['api'] },
      { name: 'api3', roles: ['api'] },
    ]);
    assert.deepEqual(events.slice(0, 2), ['api1 start', 'api2 start']);
    assert.ok(events.indexOf('api3 start') > events.indexOf('api1 end'));
  });
});
