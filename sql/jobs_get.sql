SELECT * FROM partd.jobs WHERE id = $1;
