# ChainVote in a container: the README's own steps (tools/deps.sh, make) on Debian 12.
# The service listens on all addresses inside the container; publish port 8080.
FROM debian:12
WORKDIR /opt/chainvote
COPY . .
RUN sh tools/deps.sh && make all
ENV PORT=8080 DATA=/var/lib/chainvote LISTEN=0.0.0.0
EXPOSE 8080
CMD ["sh", "-c", "make run PORT=$PORT DATA=$DATA && exec tail -F $DATA/run/nginx-error.log $DATA/run/chain.log $DATA/run/vote.log $DATA/run/blocks.log $DATA/run/validate.log $DATA/run/register.log"]
