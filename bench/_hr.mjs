import { hitRatioTable } from './hitratio/run.mjs';
import { shardedmapPolicy } from './hitratio/shardedmap-policy.mjs';
import { standardPolicies } from './hitratio/policies.mjs';
const std = await standardPolicies();
const { markdown } = await hitRatioTable({ quick: true, policies: [std[0], std[1]], extraPolicies: [shardedmapPolicy(), shardedmapPolicy({ shards: 1 })] });
console.log(markdown);
