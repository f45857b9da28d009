// node-postgres (`pg`) against `stream --pg`, run by the integration test
// `clients::` (tests/it/clients.rs) with TZ set away from UTC.
//
//     node postgres.js PORT DAY      (DAY: a date of the fixture, YYYY-MM-DD)
//
// A JS Date of local midnight on DAY is sent as a parameter (pg writes it as
// a timestamp with the local offset, e.g. 2015-02-20T00:00:00.000-05:00) and
// must select DAY itself, not the day before in UTC. Prints one JSON object.
const { Client } = require('pg');

async function main() {
  const [port, day] = process.argv.slice(2);
  const [y, m, d] = day.split('-').map(Number);
  const client = new Client({ host: '127.0.0.1', port: Number(port), user: 'tweetstream', database: 'tweetstream' });
  await client.connect();
  const out = { offset_minutes: new Date(y, m - 1, d).getTimezoneOffset() };
  const byDate = await client.query(
    'select date, score_count from sentiment_by_day where date = $1', [new Date(y, m - 1, d)]);
  out.day = byDate.rows.map((r) => [r.date, Number(r.score_count)]);
  const tags = await client.query(
    'select tag, count from tag_totals where count >= $1 order by count desc, tag limit $2', [2, 5]);
  out.tags = tags.rows.map((r) => [r.tag, Number(r.count)]);
  // `$1::int` is an int4, which pg reads as a JS number.
  const cast = await client.query('select $1::int as n', [41]);
  out.int_cast = [cast.rows[0].n, cast.fields[0].dataTypeID];
  // The day as a string: what the docs give for "this day" in any zone.
  const byString = await client.query(
    'select date, score_count from sentiment_by_day where date = $1', [day]);
  out.day_by_string = byString.rows.map((r) => [r.date, Number(r.score_count)]);
  // UTC midnight of DAY, as `new Date('YYYY-MM-DD')` makes it: sent in
  // local time, it is the day before west of UTC, as in PostgreSQL.
  const utc = await client.query(
    'select date from sentiment_by_day where date = $1', [new Date(day)]);
  out.utc_midnight = utc.rows.map((r) => r.date);
  await client.query('BEGIN');
  out.tx_tag_count = Number((await client.query('select count(*) as n from tag_totals')).rows[0].n);
  await client.query('COMMIT');
  await client.end();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e.stack || e) }));
});
