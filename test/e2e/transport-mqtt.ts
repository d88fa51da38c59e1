/** Setup file of the jest project e2e-mqtt: the harness's TestSocket uses MQTT (the stock client). */
process.env.E2E_TRANSPORT = 'mqtt';
