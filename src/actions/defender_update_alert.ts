// Entry of the defender_update_alert alert action (bin/defender_update_alert.sh|.cmd start it).
import { main } from './runAction.js';
import { ALERT_TARGET } from './targets.js';

main(ALERT_TARGET);
