// Entry of the defender_update_incident alert action (bin/defender_update_incident.sh|.cmd start it).
import { main } from './runAction.js';
import { INCIDENT_TARGET } from './targets.js';

main(INCIDENT_TARGET);
