// hkube2argo's Node.js shim: loads an HKube algorithm module and calls its start(args, api),
// sync or async, then writes {"result": ...} or {"error": "..."} for the Python wrapper.
// Usage: node node_shim.js CODE_DIR ENTRY_POINT ARGS_JSON OUTCOME_JSON
'use strict';
const fs = require('fs');
const path = require('path');

const [codeDir, entryPoint, argsPath, outcomePath] = process.argv.slice(2);

function write(outcome) {
  fs.writeFileSync(outcomePath, JSON.stringify(outcome));
}

const api = new Proxy({}, {
  get: (_, name) => () => {
    throw new Error(`hkubeApi.${String(name)} is not supported by hkube2argo: the code API ` +
      'starts algorithms and pipelines dynamically, which a compiled DAG cannot do');
  },
});

async function main() {
  // bytes from upstream arrive tagged by the Python side and become Buffers, as in HKube
  const args = JSON.parse(fs.readFileSync(argsPath, 'utf8'), (key, value) => (
    value && typeof value === 'object' && typeof value.$h2aBytes === 'string'
      && Object.keys(value).length === 1 ? Buffer.from(value.$h2aBytes, 'base64') : value));
  let algorithm;
  try {
    algorithm = require(path.resolve(codeDir, entryPoint));
  } catch (err) {
    write({ error: `cannot load ${entryPoint}: ${err && err.message ? err.message : err}` });
    return;
  }
  if (typeof algorithm.start !== 'function') {
    write({ error: `${entryPoint} has no start function` });
    return;
  }
  process.on('SIGTERM', async () => {
    try { if (typeof algorithm.stop === 'function') await algorithm.stop({ forceStop: true }); }
    finally { process.exit(143); }
  });
  try {
    if (typeof algorithm.init === 'function') await algorithm.init(args);
    const result = await algorithm.start(args, api);
    if (Buffer.isBuffer(result)) write({ resultBase64: result.toString('base64') });
    else write({ result: result === undefined ? null : result });
  } catch (err) {
    // HKube's error string is the message; the stack goes to the task's log, as Node prints it
    if (err && err.stack) console.error(String(err.stack));
    write({ error: err && err.message ? err.message : String(err) });
  }
}

main().catch((err) => { console.error(err); process.exit(70); });
