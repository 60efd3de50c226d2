namespace Uld.Tests; public class Placeholder { }
