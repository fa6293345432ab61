# ChainVote in a container: the README's own steps (tools/deps.sh, make) on Debian 12.
# The service listens on all addresses inside the container; publish port 8080.
# PID 1 is tini, which reaps every orphan; under it `tools/run.sh supervise` prepares the
# election as `make run` does and hands over to supervisord, which restarts nginx, a
# program or the miner when it dies. Started as root, run.sh runs the programs as the
# system user chainvote and nginx's workers as www-data. `docker stop` sends SIGTERM:
# tini passes it to supervisord, which stops them all.
FROM debian:12
WORKDIR /opt/chainvote
COPY . .
RUN sh tools/deps.sh && make all
ENV PORT=8080 DATA=/var/lib/chainvote LISTEN=0.0.0.0
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sh", "-c", "exec sh tools/run.sh supervise \"$PORT\" \"$DATA\""]
