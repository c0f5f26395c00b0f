import type { Hook } from '@oclif/core';

/**
 * oclif fills a missing argument from piped stdin (any command's, required or not), giving stdin 10 ms
 * to arrive: `cat site.yaml | rmm apply -f -` then took the YAML for a saved plan's file name in most
 * runs, `echo x | rmm get devices` listed device "x" or all devices, and `echo id | rmm exec -t ...`
 * could run "id". rmm reads stdin only where `-f -` says so, so no argument of any command (rmm's
 * own, oclif's help and plugin commands, third-party plugins) is ever read from it. A root-only hook
 * that runs before every command's parse is the one place that reaches them all.
 */
const hook: Hook<'preparse'> = async ({ argv, options }) => {
  if (options.args) {
    options.args = Object.fromEntries(
      Object.entries(options.args).map(([name, arg]) => [name, { ...arg, ignoreStdin: true }]),
    );
  }
  return argv;
};

export default hook;
