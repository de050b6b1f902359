//go:build race

package recommender

// raceDetector: the race detector's shadow memory inflates RSS several
// times over, so RSS figures are checked only in builds without it
// (`make test` runs TestLastGoodByteBudget once more that way).
const raceDetector = true
