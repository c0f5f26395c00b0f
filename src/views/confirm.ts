import { createInterface } from 'node:readline';

/**
 * Asks on the terminal (the prompt on stderr, so stdout stays the command's output); only "yes" is
 * yes, and a terminal closed before answering (Ctrl-D) is no.
 */
export function confirmOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise<boolean>((resolve) => {
    let answered = false;
    rl.once('close', () => {
      if (!answered) process.stderr.write('\n');
      resolve(false);
    });
    rl.question(`${question} Only "yes" is accepted: `, (answer) => {
      answered = true;
      resolve(answer.trim() === 'yes');
      rl.close();
    });
  });
}
