/**
 * A POSIX collector's output cut at its `### NAME` header lines: section name -> its non-empty
 * lines, trimmed, CR dropped (a Windows OpenSSH relay may add them).
 */
export function splitSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const header = /^### (\w+)$/.exec(line);
    if (header) {
      current = [];
      sections.set(header[1] as string, current);
    } else if (current && line.trim() !== '') current.push(line.trim());
  }
  return sections;
}
