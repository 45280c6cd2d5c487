import { nearBench } from './near.mjs';
console.log(JSON.stringify(await nearBench({ quick: true }), null, 1));
