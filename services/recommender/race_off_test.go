//go:build !race

package recommender

const raceDetector = false
