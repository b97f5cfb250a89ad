// Imports every command that runs over data sets, so that each registers itself (cli/dataset.ts's
// registerDatasetCommand, registerFinisher): loupe merge, loupe queue and loupe worker load this.
import './explain.ts';
import './evaluate.ts';
import './dissect-dataset.ts';
