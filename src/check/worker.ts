import { parentPort, workerData } from 'node:worker_threads';
import { setTransportSchemas, type TransportSchemas } from '../resources/transport-options.js';
import { checkDocuments, type DocumentChunk } from './check-document.js';

/** A worker thread of the check pool: checks batches of documents and posts the results back. */
const { collect, transportSchemas } = workerData as { collect: boolean; transportSchemas?: TransportSchemas };
setTransportSchemas(transportSchemas);

parentPort?.on('message', async (batch: { id: number; chunks: DocumentChunk[] }) => {
  // As one JSON string: measured faster to post and receive than the structured clone of the objects.
  const results = JSON.stringify(await checkDocuments(batch.chunks, collect));
  parentPort?.postMessage({ id: batch.id, results });
});
