import path from 'node:path';

/** A file named for people: relative to the working directory when inside it (short, and editors resolve it), else absolute. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : path.resolve(file);
}
