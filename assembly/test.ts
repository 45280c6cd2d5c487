// The test build's entry (asconfig.json target "test", with TEST and DEBUG
// set): every release export, plus the test doors.
export * from "./index";
export {
  cellForm, cellAddress, entryAddress, shardAddress, shardLockAddress, headerAddress, testHash,
  testOverwrite, testCorrupt, testStall,
} from "./doors";
