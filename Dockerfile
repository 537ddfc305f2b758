# syntax=docker/dockerfile:1
# The tinyforge-check container action: a static binary on an empty image.

# Build stage: a pinned Go toolchain, modules cached in their own layer.
FROM golang:1.26-alpine AS build
RUN apk add --no-cache ca-certificates
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tinyforge-check ./cmd/tinyforge-check

# Final stage: nothing but the binary and the CA certificates it needs for HTTPS. It runs as
# root and sets no WORKDIR, as GitHub's container actions require (the runner mounts the
# workspace and sets the working directory itself).
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tinyforge-check /tinyforge-check
ENTRYPOINT ["/tinyforge-check"]
CMD ["action"]
