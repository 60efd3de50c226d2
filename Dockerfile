# Multi-stage build of the UldServer services on the official Ubuntu 24.04-based .NET 10 images.
# Ubuntu 24.04's libstdc++ already has what TorchSharp needs, so no native fix runs in these images.
#   docker build --target logitserver -t uldserver/logitserver .
#   docker build --target gateway     -t uldserver/gateway .
#   docker build --target trainer     -t uldserver/trainer .
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
