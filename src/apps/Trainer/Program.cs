using Uld.Trainer.Cli;

return TrainerCli.Run(args);
