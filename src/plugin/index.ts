// The public plugin API, `rmm/plugin`: types and errors a transport plugin is written against.
export * from './api.js';
