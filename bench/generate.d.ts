/** Types for generate.js (plain JavaScript so `npm run bench` needs no build of its own). */
export function fleetDocuments(): string;
export function generate(
  root: string,
  count?: number,
  filesOfHundred?: number,
): { one: string; many: string; devices: number };
