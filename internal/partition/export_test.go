package partition

// CopyBatchSQL is the online copy's batch statement, for the test that
// interleaves it with merges and erasures step by step.
var CopyBatchSQL = copyBatchSQL
