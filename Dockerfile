# Multi-stage build of the UldServer services on the official Ubuntu 24.04-based .NET 10 images.
# Ubuntu 24.04's libstdc++ already has what TorchSharp needs, so no native fix runs in these images.
#   docker build --target logitserver -t uldserver/logitserver .
#   docker build --target gateway     -t uldserver/gateway .
#   docker build --target trainer     -t uldserver/trainer .
#   docker build --target logitserver-gpu -t uldserver/logitserver-gpu .   (ONNX Runtime's CUDA provider; run with --gpus all
#                                     and "ExecutionProvider": "cuda" on the deployments that should use it)
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props UldServer.sln ./
COPY src/ src/
RUN dotnet publish src/apps/LogitServer/Uld.LogitServer.csproj -c Release -o /out/logitserver \
 && dotnet publish src/apps/Gateway/Uld.Gateway.csproj -c Release -o /out/gateway \
 && dotnet publish src/apps/Trainer/Uld.Trainer.csproj -c Release -o /out/trainer

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS logitserver
WORKDIR /app
COPY --from=build /out/logitserver .
COPY models/ /models/
ENV ASPNETCORE_URLS=http://+:8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "uld-logitserver.dll"]

# The LogitServer built against Microsoft.ML.OnnxRuntime.Gpu.Linux (-p:UldGpu=true), on an NVIDIA CUDA runtime
# image: ONNX Runtime 1.31's CUDA provider loads CUDA 13 (cuBLAS, cuFFT, cuRAND) and cuDNN 9 from the image, the
# driver comes from the host through the NVIDIA container toolkit. The .NET runtime is copied from the official image.
FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build-gpu
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props UldServer.sln ./
COPY src/ src/
RUN dotnet publish src/apps/LogitServer/Uld.LogitServer.csproj -c Release -p:UldGpu=true -o /out/logitserver-gpu

FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 AS logitserver-gpu
COPY --from=mcr.microsoft.com/dotnet/aspnet:10.0-noble /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3t64 zlib1g && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build-gpu /out/logitserver-gpu .
COPY models/ /models/
ENV ASPNETCORE_URLS=http://+:8080 LogitServer__ExecutionProvider=cuda
EXPOSE 8080
ENTRYPOINT ["dotnet", "uld-logitserver.dll"]

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS gateway
WORKDIR /app
COPY --from=build /out/gateway .
ENV ASPNETCORE_URLS=http://+:8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "uld-gateway.dll"]

FROM mcr.microsoft.com/dotnet/runtime:10.0-noble AS trainer
WORKDIR /app
COPY --from=build /out/trainer .
ENTRYPOINT ["dotnet", "uld-trainer.dll"]
