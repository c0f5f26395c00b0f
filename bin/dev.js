#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources directly (no build step); for development only.
import { rmSync } from 'node:fs';
import { execute } from '@oclif/core';

// The manifest is a cache of the built commands; here it could hide a command added since the build.
rmSync(new URL('../oclif.manifest.json', import.meta.url), { force: true });
await execute({ development: true, dir: import.meta.url });
