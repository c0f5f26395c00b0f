import os from 'node:os';

/** Who acts, for Actions.CreatedBy and AuditLog: --actor, else RMM_ACTOR, else the OS user. */
export function resolveActor(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.RMM_ACTOR) return env.RMM_ACTOR;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
