import { ShardedMap } from './dist/browser.js';
onmessage = async ({ data: { handle, prefix, count } }) => {
  try {
    const map = await ShardedMap.attach(handle);
    for (let i = 0; i < count; i++) map.store(`${prefix}${i}`, { i, prefix });
    map.close();
    postMessage({ stored: count });
  } catch (e) {
    postMessage({ error: `${e.code ?? ''} ${e.message}` });
  }
};
