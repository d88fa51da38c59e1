/** Setup file of the jest project e2e-longpoll: the harness's TestSocket (and the SDK suite) use long-poll. */
process.env.E2E_TRANSPORT = 'longpoll';
