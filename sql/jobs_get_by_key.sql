SELECT * FROM partd.jobs WHERE idempotency_key = $1;
