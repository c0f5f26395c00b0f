/** Types for hostile.js (plain JavaScript so `npm run bench` needs no build of its own). */
export const HOSTILE: Record<string, { write: (file: string) => void; message: string }>;
export function writeHostile(dir: string, name: string): string;
