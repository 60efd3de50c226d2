using Uld.Eval.Cli;

return await EvalCli.RunAsync(args);
