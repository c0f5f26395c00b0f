#!/usr/bin/env node
// The Node.js version is checked before anything else loads, so that an old Node says so plainly
// instead of failing somewhere inside a dependency. Hence this file is plain old JavaScript: no
// static import, no top-level await, no syntax newer than ES2017.
var version = process.versions.node.split('.').map(Number);
if (version[0] < 20 || (version[0] === 20 && version[1] < 19)) {
  process.stderr.write(
    'rmm needs Node.js 20.19 or newer; this is Node.js ' +
      process.versions.node +
      ' (' +
      process.execPath +
      ').\nInstall a current Node.js LTS (https://nodejs.org) and run rmm with it.\n',
  );
  process.exitCode = 1;
} else {
  import('./main.js');
}
