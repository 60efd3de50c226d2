namespace Uld.Core; internal static class Placeholder { }
