# syntax=docker/dockerfile:1
# The UldServer services on the official Ubuntu 24.04-based .NET 10 images (CPU). The GPU LogitServer is Dockerfile.gpu.
#   docker build -t uldserver/logitserver .                       (the last stage: LogitServer with the default models)
#   docker build --target gateway -t uldserver/gateway .
#   docker build --target trainer -t uldserver/trainer .
#   docker run -p 8080:8080 uldserver/logitserver                  (serves models/deployments.json)
#
# Stage order matters for the classic builder (also compose v1's default), which builds every stage above the target:
# gateway first, then trainer, then the LogitServer last, so `--target gateway` builds the gateway alone and a plain
# `docker build .` ends at the LogitServer. Each app restores in its own layer from its project files only, so a
# source change re-runs the publish, not the package download, and no app restores another app's packages.

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS gateway-build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/libs/Uld.Contracts/Uld.Contracts.csproj src/libs/Uld.Contracts/
COPY src/libs/Uld.Web/Uld.Web.csproj src/libs/Uld.Web/
COPY src/apps/Gateway/Uld.Gateway.csproj src/apps/Gateway/
RUN dotnet restore src/apps/Gateway/Uld.Gateway.csproj
COPY src/libs/Uld.Contracts/ src/libs/Uld.Contracts/
COPY src/libs/Uld.Web/ src/libs/Uld.Web/
COPY src/apps/Gateway/ src/apps/Gateway/
RUN dotnet publish src/apps/Gateway/Uld.Gateway.csproj -c Release --no-restore -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS gateway
WORKDIR /app
COPY --from=gateway-build /out .
# The base image listens on 8080 (ASPNETCORE_HTTP_PORTS); metrics go to their own port, kept off the published one.
ENV Metrics__Port=9090
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["dotnet", "uld-gateway.dll", "health"]
ENTRYPOINT ["dotnet", "uld-gateway.dll"]

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS trainer-build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/libs/Uld.Contracts/Uld.Contracts.csproj src/libs/Uld.Contracts/
COPY src/libs/Uld.Tokenization/Uld.Tokenization.csproj src/libs/Uld.Tokenization/
COPY src/libs/Uld.Evaluation/Uld.Evaluation.csproj src/libs/Uld.Evaluation/
COPY src/libs/Uld.Cli/Uld.Cli.csproj src/libs/Uld.Cli/
COPY src/libs/Uld.Inference/Uld.Inference.csproj src/libs/Uld.Inference/
COPY src/apps/Trainer/Uld.Trainer.csproj src/apps/Trainer/
RUN dotnet restore src/apps/Trainer/Uld.Trainer.csproj
COPY src/libs/Uld.Contracts/ src/libs/Uld.Contracts/
COPY src/libs/Uld.Tokenization/ src/libs/Uld.Tokenization/
COPY src/libs/Uld.Evaluation/ src/libs/Uld.Evaluation/
COPY src/libs/Uld.Cli/ src/libs/Uld.Cli/
COPY src/libs/Uld.Inference/ src/libs/Uld.Inference/
COPY src/apps/Trainer/ src/apps/Trainer/
RUN dotnet publish src/apps/Trainer/Uld.Trainer.csproj -c Release --no-restore -o /out

FROM mcr.microsoft.com/dotnet/runtime:10.0-noble AS trainer
# TorchSharp's and ONNX Runtime's native code links the GNU C++ runtime, which the .NET base images no longer carry.
RUN apt-get update && apt-get install -y --no-install-recommends libstdc++6 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=trainer-build /out .
ENTRYPOINT ["dotnet", "uld-trainer.dll"]

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS logitserver-build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/libs/Uld.Contracts/Uld.Contracts.csproj src/libs/Uld.Contracts/
COPY src/libs/Uld.Tokenization/Uld.Tokenization.csproj src/libs/Uld.Tokenization/
COPY src/libs/Uld.Inference/Uld.Inference.csproj src/libs/Uld.Inference/
COPY src/libs/Uld.Web/Uld.Web.csproj src/libs/Uld.Web/
COPY src/apps/LogitServer/Uld.LogitServer.csproj src/apps/LogitServer/
RUN dotnet restore src/apps/LogitServer/Uld.LogitServer.csproj
COPY src/libs/Uld.Contracts/ src/libs/Uld.Contracts/
COPY src/libs/Uld.Tokenization/ src/libs/Uld.Tokenization/
COPY src/libs/Uld.Inference/ src/libs/Uld.Inference/
COPY src/libs/Uld.Web/ src/libs/Uld.Web/
COPY src/apps/LogitServer/ src/apps/LogitServer/
RUN dotnet publish src/apps/LogitServer/Uld.LogitServer.csproj -c Release --no-restore -o /out

# Last stage, so the default target: the LogitServer serving the default models. models/deployments.json names its
# directories relative to the working directory (models/tofu-mini-target, …), so they live under /app/models.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS logitserver
RUN apt-get update && apt-get install -y --no-install-recommends libstdc++6 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=logitserver-build /out .
COPY models/ /app/models/
ENV Metrics__Port=9090
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["dotnet", "uld-logitserver.dll", "health"]
ENTRYPOINT ["dotnet", "uld-logitserver.dll"]
# Another deployment file: docker run … uldserver/logitserver --config /config/deployments.json (paths in it are
# relative to /app, or absolute).
CMD ["--config", "models/deployments.json"]
