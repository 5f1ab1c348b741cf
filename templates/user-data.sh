#!/bin/bash
# cloudcomp instance boot script: install Docker, pull the app image, run it as a systemd
# unit that restarts it. cloudcomp fills in the double-braced fields for the launch template.
set -euo pipefail

IMAGE='{{image}}'
REGISTRY="${IMAGE%%/*}"
REGION='{{region}}'

dnf install -y docker
systemctl enable --now docker

# ECR needs a login; the instance role grants it (no keys on the machine).
if [[ "$REGISTRY" == *.dkr.ecr.*.amazonaws.com ]]; then
  aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"
fi
# The image may be pushed moments after this instance boots: keep trying.
until docker pull "$IMAGE"; do sleep 5; done

{{app_env_file}}
cat > /etc/systemd/system/cloudcomp-app.service <<UNIT
[Unit]
Description=cloudcomp app
After=docker.service
Requires=docker.service

[Service]
Restart=always
RestartSec=2
ExecStartPre=-/usr/bin/docker rm -f cloudcomp-app
ExecStart=/usr/bin/docker run --name cloudcomp-app -p {{port}}:{{port}} \
  -e CLOUDCOMP_LISTEN=0.0.0.0:{{port}} -e CLOUDCOMP_STORE={{store}} {{app_env}} \
  -e CLOUDCOMP_REGION=$REGION -e CLOUDCOMP_TRUST_FORWARDED_FOR=true \
  -v /var/lib/cloudcomp:/data $IMAGE
ExecStop=/usr/bin/docker stop cloudcomp-app

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p /var/lib/cloudcomp && chown 65532:65532 /var/lib/cloudcomp
systemctl daemon-reload
systemctl enable --now cloudcomp-app
