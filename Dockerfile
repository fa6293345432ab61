# ChainVote in a container: the README's own steps (tools/deps.sh, make) on Debian 12.
# The service listens on all addresses inside the container, so it speaks HTTPS (the
# pages need a secure context to sign): HTTPS on 8443, and 8080 only redirects to it.
# Publish both on the same numbers (-p 8443:8443 -p 8080:8080) so that the redirect
# points at the right port. The certificate: mount yours and name it
# (-e TLS_CERT=/tls/fullchain.pem -e TLS_KEY=/tls/privkey.pem -v /etc/ssl/cv:/tls:ro),
# else a self-signed one is made in DATA/tls/ for TLS_NAME (-e TLS_NAME=your.host) and
# the log says loudly that browsers will warn until it is replaced.
# PID 1 is tini, which reaps every orphan; under it `tools/run.sh supervise` prepares the
# election as `make run` does and hands over to supervisord, which restarts nginx, a
# program or the miner when it dies. Started as root, run.sh runs the programs as the
# system user chainvote and nginx's workers as www-data. `docker stop` sends SIGTERM:
# tini passes it to supervisord, which stops them all.
FROM debian:12
WORKDIR /opt/chainvote
COPY . .
RUN sh tools/deps.sh && make all
ENV PORT=8443 HTTP_PORT=8080 DATA=/var/lib/chainvote LISTEN=0.0.0.0
EXPOSE 8443 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sh", "-c", "exec sh tools/run.sh supervise \"$PORT\" \"$DATA\""]
