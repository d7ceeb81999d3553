// Preloaded into plexusd (NODE_OPTIONS=--require) by `bench attach --profile-plexusd`:
// node refuses --cpu-prof in NODE_OPTIONS, so this starts the V8 sampling profiler
// in-process and writes the profile to $PLEXUS_BENCH_CPU_PROFILE when the process exits.
// The in-process inspector session answers synchronously, so this works in 'exit'.
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');

const file = process.env.PLEXUS_BENCH_CPU_PROFILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.once('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(file, JSON.stringify(res.profile));
    });
  });
}
