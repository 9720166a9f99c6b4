// Property tests: under CI one fixed seed, so a run replays exactly; locally a
// fresh seed each run to keep exploring. fast-check prints the seed of any
// failure; replay it with FC_SEED=<seed>.
import fc from "fast-check";

const fromEnv = process.env.FC_SEED;
if (fromEnv !== undefined && fromEnv !== "") fc.configureGlobal({ seed: Number(fromEnv) });
else if (process.env.CI) fc.configureGlobal({ seed: 20261125 });
