namespace Uld.Inference; internal static class Placeholder { }
