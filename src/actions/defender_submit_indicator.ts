// Entry of the defender_submit_indicator alert action (bin/defender_submit_indicator.sh|.cmd start it).
import { mainSubmitIndicator } from './runAction.js';

mainSubmitIndicator();
