// flite 2.2 (Debian flite1-dev): the engine, the US English front end, the CMU lexicon and three voices.
#include <flite/flite.h>

// Voice registration functions; flite ships no header for them.
cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
void usenglish_init(cst_voice *v);
cst_lexicon *cmulex_init(void);
