// A writer for the kill -9 test: batches of samples into the given database through rmm's metric
// store (dist/), printing each batch's number once it is committed, until killed or the bound is hit.
import { metricStore } from '../../dist/monitoring/metric-store.js';
import { openDatabase } from '../../dist/state/connection.js';

const [file, batchSizeText] = process.argv.slice(2);
const batchSize = Number(batchSizeText);
const db = openDatabase(file);
const store = metricStore(db, { batchSize });
for (let batch = 0; batch < 10_000; batch++) {
  const samples = Array.from({ length: batchSize }, (_, i) => ({
    device: 'web-01',
    metric: 'cpu.percent',
    labels: {},
    value: batch,
    at: batch * batchSize + i,
  }));
  store.insertBatch(samples);
  process.stdout.write(`${batch}\n`);
}
