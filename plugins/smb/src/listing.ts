/** One file of an smbclient `ls`: its name as the share gave it, and its size. */
export interface ListedFile {
  name: string;
  size: number;
}

// `  name<padding>  A  1234  Thu Dec  3 02:34:53 2026`: the attributes and date close the line.
const ENTRY = /^ {2}(.+?) +([A-Z]*) +(\d{1,20}) {2}[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

/**
 * The files (not folders, not `.` and `..`) of smbclient `ls` output. Lines that are not entries
 * (errors, the free-space footer) are skipped; a name is whatever the share sent, so callers check
 * it before using it anywhere.
 */
export function listedFiles(output: string): ListedFile[] {
  const files: ListedFile[] = [];
  for (const line of output.split('\n')) {
    const entry = ENTRY.exec(line);
    if (!entry) continue;
    const [, name, attributes, size] = entry as unknown as [string, string, string, string];
    if (attributes.includes('D')) continue;
    files.push({ name, size: Number(size) });
  }
  return files;
}
