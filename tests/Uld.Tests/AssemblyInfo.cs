// Test collections run in parallel (one per class unless a class names one). TorchSharp's process-wide state is the
// exception: every class that uses it is in Support/TorchSharpCollection, which runs its classes one at a time.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass, DisableTestParallelization = false)]
