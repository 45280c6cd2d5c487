import { ShardedMap } from './dist/browser.js';
onmessage = async ({ data: { handle, prefixes, count } }) => {
  try {
    const map = await ShardedMap.attach(handle);
    let found = 0;
    for (const prefix of prefixes) {
      for (let i = 0; i < count; i++) {
        const v = map.load(`${prefix}${i}`);
        if (v && v.i === i && v.prefix === prefix) found++;
      }
    }
    map.close();
    postMessage({ found });
  } catch (e) {
    postMessage({ error: `${e.code ?? ''} ${e.message}` });
  }
};
