// Test classes run one at a time: TorchSharp (libtorch) state is process-wide, and training tests running on two
// threads at once corrupted each other's scalars (a libtorch "toFloat" check failing mid-forward). The product runs
// TorchSharp on one thread per process; the tests do the same.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
