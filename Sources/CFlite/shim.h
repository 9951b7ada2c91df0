// flite 2.2 (Debian flite1-dev): the engine, the US English front end, the CMU lexicon and three voices.
#include <flite/flite.h>

// The voices' registration functions (register_cmu_us_NAME) are looked up in their libraries
// when a voice is first used (Teacher/Flite.swift), not linked.
void usenglish_init(cst_voice *v);
cst_lexicon *cmulex_init(void);
